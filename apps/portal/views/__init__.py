"""Template views of the portal, one module per page family (catalog, run pages, run history)."""
