"""Documents for people: the decision pack."""
