import numpy as np

from index.embeddings import PackagedEmbedding


def test_minilm_vectors_rank_sensibly():
    e = PackagedEmbedding("minilm")
    docs = ["Each side released 175 prisoners of war.", "The weather in Paris was sunny.",
            "Stock markets fell sharply on Monday."]
    v = e.embed_many(docs)
    assert v.shape == (3, 384) and np.allclose(np.linalg.norm(v, axis=1), 1, atol=1e-4)
    q = e.embed_query("How many prisoners were exchanged?")
    assert int(np.argmax(v @ q)) == 0
    # batched and single embeddings agree, in input order
    assert np.allclose(e.embed_many(docs[::-1])[::-1], v, atol=1e-4)
    # the llama-index interface gives the same vectors
    assert np.allclose(e.get_text_embedding(docs[0]), v[0], atol=1e-4)
