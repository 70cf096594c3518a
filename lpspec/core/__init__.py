"""Core types: validated distributions, instances and draft laws, exact/float arithmetic, results and errors."""
