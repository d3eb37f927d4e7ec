"""One module per course step. Each ensure_*() is idempotent: it creates what is missing and leaves the rest."""
