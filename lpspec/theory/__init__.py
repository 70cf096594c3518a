"""The paper's theorems as checks: Theorem 1 (the canonical decomposition), Theorems 2-3 and their generalisations, and the per-instance theorem report."""
