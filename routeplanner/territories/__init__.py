"""Territory design, realignment and workload metrics."""
