"""Bounds shared by the API's input fields."""

# The largest key or counter the databases hold (a signed 64-bit integer): a number beyond it
# is refused as bad input (400) instead of overflowing in the database driver (500).
ID_MAX = 2**63 - 1
