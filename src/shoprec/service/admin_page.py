"""The operator dashboard: one page at /admin and the charting library it draws with.

The page itself holds no data: it asks for the shop's key (a login form; the key stays in the
tab's sessionStorage) and reads the key-protected JSON endpoints (/admin/experiments,
/admin/overview) with it. Charts are drawn by plotly.js, served from the installed `plotly`
package on our own origin (the page's policy allows no other).
"""

from __future__ import annotations

from pathlib import Path

import plotly
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse
from fastapi.templating import Jinja2Templates

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=Path(__file__).parent / "templates")
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@router.get("/admin", response_class=HTMLResponse, response_model=None)
def admin(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "admin.html", {})


@router.get("/admin/assets/plotly.min.js", response_class=FileResponse, response_model=None)
def plotly_js() -> FileResponse:
    """plotly.js as the `plotly` package ships it (MIT licence, in the package)."""
    return FileResponse(PLOTLY_JS, media_type="text/javascript",
                        headers={"Cache-Control": "public, max-age=86400"})
