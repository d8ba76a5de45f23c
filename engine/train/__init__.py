"""Training a GAN on a folder of images into a model folder the engine plays at once."""
