"""Data sets and loaders.

    train = data.digits("train")
    for x, t in data.DataLoader(train, batch_size=64, shuffle=True, rng=0): ...
    for x, t in data.SeqDataLoader(data.sine_curve(1000), batch_size=30): ...   # x, t: (30, 1)
"""
from .dataset import ArrayDataset, Dataset
from .loader import DataLoader, SeqDataLoader
from .datasets import digits, sine_curve, spiral

__all__ = ["Dataset", "ArrayDataset", "DataLoader", "SeqDataLoader", "sine_curve", "spiral", "digits"]
