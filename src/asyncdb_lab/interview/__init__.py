"""Interview preparation: the question bank, its proofs, the terminal drill and notebook 12."""
