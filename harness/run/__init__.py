"""Running a benchmark: jobs, planning, workers, executors, the row schema and the store."""
