embedder()
