"""One module per payment platform; the fake is the default outside production."""
