"""How the product talks to vendors: HTTP with retries and request budgets, paging walkers
written once, and bounded prefetching. Depends only on the model."""
