"""What people read: report tables, plots, and the comparison viewer."""
