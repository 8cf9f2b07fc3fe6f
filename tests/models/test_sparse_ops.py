import numpy as np
import scipy.sparse as sp

from shoprec.data.types import History, TrainData, history_matrix
from shoprec.models.sparse_ops import top_n_per_row


def test_history_matrix_keeps_the_last_value_like_training_data() -> None:
    histories = [History(np.array([2, 0, 2]), np.array([1.0, 4.0, 5.0], dtype=np.float32)),
                 History(np.array([], dtype=np.int64), np.array([], dtype=np.float32))]
    rows = history_matrix(histories, 3)
    np.testing.assert_array_equal(rows.toarray(), [[4.0, 0.0, 5.0], [0.0, 0.0, 0.0]])
    np.testing.assert_array_equal(rows.toarray(), TrainData(histories, 3).value_matrix.toarray())


def test_history_matrix_without_values_counts_presence_once() -> None:
    rows = history_matrix([History(np.array([1, 1, 0]))], 2)
    np.testing.assert_array_equal(rows.toarray(), [[1.0, 1.0]])


def test_top_n_per_row_keeps_largest_positive_entries() -> None:
    m = sp.csr_matrix(np.array([[0.1, 0.5, 0.3, -1.0], [0.0, 0.0, 0.0, 0.2]], dtype=np.float32))
    top = top_n_per_row(m, 2).toarray()
    np.testing.assert_allclose(top, [[0.0, 0.5, 0.3, 0.0], [0.0, 0.0, 0.0, 0.2]])
