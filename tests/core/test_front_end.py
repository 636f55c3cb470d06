"""The pages' JavaScript is native ES modules: a template loads at most one module script from
static/js/, and that module imports the rest (docs/editor.md, "Front-end files")."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)


def test_every_template_script_is_one_module_from_static_js() -> None:
    for template in (ROOT / "templates").rglob("*.html"):
        tags = [attrs for attrs in SCRIPT.findall(template.read_text()) if "src=" in attrs]
        assert len(tags) <= 1, f"{template}: one module per page, it imports the rest"
        for attrs in tags:
            assert 'type="module"' in attrs, f"{template}: {attrs}"
            assert re.search(r"""static ["']js/""", attrs), f"{template}: {attrs}"


def test_every_module_import_names_an_existing_file() -> None:
    """A relative import that does not resolve breaks the whole page, whatever imports it."""
    for module in (ROOT / "static/js").rglob("*.js"):
        text = module.read_text()
        for target in re.findall(r"""\bfrom\s+["'](\.{1,2}/[^"']+)["']""", text):
            assert (module.parent / target).resolve().is_file(), f"{module}: {target}"
        assert "window.Sk" not in text, module
