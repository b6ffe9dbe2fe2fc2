"""From rows to numbers: BD-rates, equal-rate comparisons, the tables of a report (no formatting)."""
