"""The TF-Hub path on a locally written preprocessor + encoder SavedModel pair."""
import numpy as np
import pytest

from transferkit.common.data.domain import PipelineOptions
from transferkit.common.model.registry import create_backbone

SEQ = 16


def _write_preprocessor(folder, vocab):
    import tensorflow_text as text

    from transferkit.common.keras import tf

    class Preprocess(tf.Module):
        def __init__(self):
            super().__init__()
            self.tokenizer = text.BertTokenizer(str(vocab), token_out_type=tf.int64)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.string)])
        def __call__(self, texts):
            ids = tf.cast(self.tokenizer.tokenize(texts).merge_dims(-2, -1), tf.int32)
            ids = ids[:, : SEQ - 2]
            n = ids.nrows()
            ids = tf.concat([tf.fill([n, 1], 2), ids, tf.fill([n, 1], 3)], axis=1)
            words = ids.to_tensor(default_value=0, shape=[None, SEQ])
            mask = tf.ones_like(ids).to_tensor(default_value=0, shape=[None, SEQ])
            return {"input_word_ids": words, "input_mask": mask,
                    "input_type_ids": tf.zeros_like(mask)}

    tf.saved_model.save(Preprocess(), str(folder))


def _write_encoder(folder):
    """A Reusable SavedModel: ``__call__(inputs, training)`` plus its variable lists."""
    from tensorflow.python.trackable.autotrackable import AutoTrackable

    from transferkit.common.keras import tf

    rng = tf.random.Generator.from_seed(0)
    enc = AutoTrackable()
    enc.embedding = tf.Variable(rng.normal([99, 16]), name="embedding")
    enc.kernel = tf.Variable(rng.normal([16, 16]) * 0.3, name="kernel")
    enc.variables = [enc.embedding, enc.kernel]
    enc.trainable_variables = [enc.embedding, enc.kernel]

    @tf.function
    def call(inputs, training=False):
        seq = tf.nn.tanh(tf.gather(enc.embedding, inputs["input_word_ids"]) @ enc.kernel)
        mask = tf.cast(inputs["input_mask"], tf.float32)[:, :, None]
        pooled = tf.reduce_sum(seq * mask, 1) / tf.reduce_sum(mask, 1)
        return {"pooled_output": pooled, "sequence_output": seq, "default": pooled}

    spec = {k: tf.TensorSpec([None, None], tf.int32)
            for k in ("input_word_ids", "input_mask", "input_type_ids")}
    for training in (False, True):
        call.get_concrete_function(spec, training=training)
    enc.__call__ = call
    tf.saved_model.save(enc, str(folder))


@pytest.fixture(scope="module")
def hub_pair(tmp_path_factory, tiny_bert_dir):
    root = tmp_path_factory.mktemp("hub")
    _write_preprocessor(root / "preprocess", tiny_bert_dir / "vocab.txt")
    _write_encoder(root / "encoder")
    return root / "encoder", root / "preprocess"


def test_hub_backbone_trains_and_exports(hub_pair, tmp_path, text_domain, tf_keras):
    from transferkit.common.model.freezing import count_trainable, freeze, unfreeze
    from transferkit.common.keras import tf
    from tests.nlp.conftest import sentiment_texts

    encoder, preprocess = hub_pair
    backbone = create_backbone("hub_text", handle=str(encoder),
                               preprocess_handle=str(preprocess),
                               tokenizer=f"hub:{preprocess}")
    contract = backbone.contract
    freeze(backbone)
    assert count_trainable(backbone) == 0
    unfreeze(backbone, top=1)
    assert count_trainable(backbone) == 99 * 16 + 16 * 16
    texts, labels = sentiment_texts(200)
    targets = np.array([lab == "pos" for lab in labels], np.int32)
    model = tf_keras.Model(backbone.model.input,
                           tf_keras.layers.Dense(2, activation="softmax")(backbone.model.output))
    model.compile(tf_keras.optimizers.Adam(0.05), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    ds = text_domain.make_dataset(texts, targets, contract,
                                  PipelineOptions(batch_size=32, training=True))
    history = model.fit(ds, epochs=5, verbose=0)
    assert history.history["accuracy"][-1] > 0.8
    serving = text_domain.serving_model(model, contract)
    serving.save(str(tmp_path / "sm"), save_format="tf")
    loaded = tf.saved_model.load(str(tmp_path / "sm"))
    served = loaded.signatures["serving_default"](text=tf.constant(texts[:4]))
    eval_ds = text_domain.make_dataset(texts[:4], None, contract, PipelineOptions())
    np.testing.assert_allclose(next(iter(served.values())).numpy(),
                               model.predict(eval_ds, verbose=0), atol=1e-5)
