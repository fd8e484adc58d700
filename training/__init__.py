"""Quick Draw data to an evaluated Keras CNN: download, build datasets, train, evaluate, report."""
