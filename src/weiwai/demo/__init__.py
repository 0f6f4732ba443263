"""A synthetic but realistic portfolio, agencies and users, for trying weiwai out."""
