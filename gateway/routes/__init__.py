"""HTTP routes, one module per surface (DESIGN.md section 6)."""
