"""Training, export and evaluation of LinePatrol models: the only code that imports torch/ultralytics."""
