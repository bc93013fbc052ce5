"""Backends: the interface every director implements, its errors, and the kernel client."""
