"""Loading, sentences, chunks, embeddings and Chroma: everything that builds the index."""
