"""Accuracy sources: benchmark tables, accuracy predictors and labelled proxies."""
