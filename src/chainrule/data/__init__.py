"""Data sets and loaders.

    loader = data.DataLoader(data.ArrayDataset(x, t), batch_size=32, shuffle=True)  # NumPy arrays
    train = data.digits("train")
    for x, t in data.DataLoader(train, batch_size=64, shuffle=True, rng=0): ...
    for x, t in data.SeqDataLoader(data.sine_curve(1000), batch_size=30): ...   # x, t: (30, 1)
"""
from .dataset import ArrayDataset, Dataset
from .datasets import digits, sine_curve, spiral
from .loader import DataLoader, Sampler, SeqDataLoader, default_collate

__all__ = ["ArrayDataset", "DataLoader", "Dataset", "Sampler", "SeqDataLoader", "default_collate", "digits",
           "sine_curve", "spiral"]
