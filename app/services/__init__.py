"""Use cases. The only layer that commits; functions are verb_noun with keyword arguments."""
