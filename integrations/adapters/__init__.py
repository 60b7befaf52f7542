"""One module per remote portal; the fake is the default outside production."""
