"""The exact solvers of the token-level optimum P*: closed forms, subsets, the LP, the rational max-flow, the submodular search, and the one dispatcher (`optimal_acceptance`)."""
