"""lottery-kit: lottery tickets in evolution strategies, on JAX."""
__version__ = "0.1.0"
