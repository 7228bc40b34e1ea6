"""mGage SMS Campaign Manager export: sent (MT) and received (MO) SMS per program."""
