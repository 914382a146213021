"""Classifiers of the course: k-NN, linear classifiers, the two-layer net and the deeper nets."""
