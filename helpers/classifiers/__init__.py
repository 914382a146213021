"""Classifiers of the course, one module each, named as in CS231n.

k_nearest_neighbor, linear_classifier, linear_svm, softmax, neural_net, fc_net, cnn, rnn.
Import the module you need, e.g. `from helpers.classifiers import k_nearest_neighbor`.
"""
