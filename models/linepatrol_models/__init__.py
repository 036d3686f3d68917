"""Training, export and evaluation of LinePatrol models.

The only package that imports torch and ultralytics.
"""
