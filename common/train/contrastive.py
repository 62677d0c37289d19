"""Few-shot contrastive tuning of the encoder before phase 1 (SetFit's method).

``fine_tune_method="contrastive"``: the backbone is trained on pairs of training examples
(:mod:`transferkit.common.train.pairs`) so that the cosine similarity of the two pooled
embeddings approaches 1 for a same-label pair and 0 otherwise (SetFit's
``CosineSimilarityLoss``: the mean squared error between ``cos(u, v)`` and the target), for
``contrastive_epochs`` passes with Adam at ``contrastive_learning_rate``. The backbone is
tuned in place, so phase 1 then fits the head on the tuned embeddings (the embedding cache
holds tuned features) and the export is the usual one: a text model still takes raw strings.

It works on any backbone's pooled output; it is meant for few-shot text. The tuned weights
are saved as ``checkpoints/contrastive_final_weights.h5``; a resumed run loads them instead
of tuning again. An interrupted tuning (short by design) starts again from the pretrained
weights.

Example:
    >>> contrastive_tune(ctx)  # doctest: +SKIP  (the trainer calls it after prepare)
    {'pairs': 1536, 'steps': 96, 'loss': [0.162], 'pair_loss_before': 0.241, ...}
"""
from __future__ import annotations

import sys

import numpy as np
from tqdm.auto import tqdm

from transferkit.common.data.pipeline import build_pipeline
from transferkit.common.keras import keras, tf
from transferkit.common.model.freezing import all_trainable, unfreeze
from transferkit.common.train import callbacks as cb
from transferkit.common.train.pairs import Pairs, contrastive_pairs

PHASE = "contrastive"
WEIGHTS_FILE = "contrastive_final_weights.h5"
PROBE_PAIRS = 256  # the loss before/after is measured on the first pairs (cheap, same ones)


def _log(msg: str) -> None:
    print(f"[transferkit] {msg}", file=sys.stderr, flush=True)


def pair_dataset(domain, contract, items, pairs: Pairs, batch_size: int):
    """Batched ``((left inputs, right inputs), targets)`` in the order of ``pairs``; each
    side goes through the domain's own (unaugmented) pipeline."""
    left = build_pipeline(domain, contract, [items[k] for k in pairs.left], batch_size=batch_size)
    right = build_pipeline(domain, contract, [items[k] for k in pairs.right],
                           batch_size=batch_size)
    targets = tf.data.Dataset.from_tensor_slices(pairs.targets).batch(batch_size)
    return tf.data.Dataset.zip(((left, right), targets)).prefetch(tf.data.AUTOTUNE)


def cosine_pair_loss(model, left, right, targets, training: bool = False):
    """Mean of ``(cos(model(left), model(right)) - targets) ** 2``."""
    u = tf.math.l2_normalize(tf.cast(model(left, training=training), tf.float32), axis=-1)
    v = tf.math.l2_normalize(tf.cast(model(right, training=training), tf.float32), axis=-1)
    return tf.reduce_mean(tf.square(tf.reduce_sum(u * v, axis=-1) - targets))


def pair_loss(model, dataset) -> float:
    """The pair loss over a whole :func:`pair_dataset` (inference mode: no dropout)."""
    call = tf.function(lambda a, b, y: cosine_pair_loss(model, a, b, y), reduce_retracing=True)
    total, count = 0.0, 0
    for (a, b), y in dataset:
        total += float(call(a, b, y)) * int(y.shape[0])
        count += int(y.shape[0])
    return total / max(count, 1)


def train_pairs(model, datasets, steps_per_epoch: int, learning_rate: float) -> list[float]:
    """Adam on the pair loss over each dataset of ``datasets`` (one per epoch), every
    trainable weight of ``model``; returns each epoch's mean training loss."""
    optimizer = keras.optimizers.Adam(learning_rate=learning_rate)
    variables = model.trainable_variables

    @tf.function(reduce_retracing=True)
    def step(a, b, y):
        with tf.GradientTape() as tape:
            loss = cosine_pair_loss(model, a, b, y, training=True)
        grads = tape.gradient(loss, variables)
        optimizer.apply_gradients([(g, v) for g, v in zip(grads, variables) if g is not None])
        return loss

    losses = []
    for epoch, dataset in enumerate(datasets):
        seen = []
        with tqdm(total=steps_per_epoch, desc=f"contrastive epoch {epoch + 1}",
                  unit="step", leave=False, mininterval=1.0) as bar:
            for (a, b), y in dataset:
                seen.append(float(step(a, b, y)))
                bar.update(1)
                bar.set_postfix(loss=f"{np.mean(seen[-20:]):.4f}", refresh=False)
        losses.append(float(np.mean(seen)) if seen else float("nan"))
    return losses


def contrastive_tune(ctx) -> dict:
    """Tune ``ctx.backbone.model`` in place on pairs of the training split (or, resumed,
    load the tuning a previous attempt of this run saved).

    Returns:
        ``{"pairs", "steps", "loss" (per epoch), "pair_loss_before", "pair_loss_after"}``,
        also kept in ``checkpoints/state.json`` under ``"contrastive"``.
    """
    t, model = ctx.config.train, ctx.backbone.model
    state = cb.read_state(ctx.ckpt)
    if ctx.resume and state.get(PHASE, {}).get("done"):
        with all_trainable(model):
            model.load_weights(str(ctx.ckpt / WEIGHTS_FILE))
        _log("resume: contrastive tuning already done, loaded the tuned encoder")
        return dict(state[PHASE])
    pairs = _training_pairs(ctx)
    items, bs = ctx.splits.train.items, t.contrastive_batch_size
    probe = pair_dataset(ctx.domain, ctx.contract, items, pairs.first(PROBE_PAIRS), bs)
    steps = -(-len(pairs) // bs)
    _log(f"contrastive tuning: {len(pairs)} pairs ({int(pairs.targets.sum())} positive) of "
         f"{len(items)} examples, {t.contrastive_epochs} epoch(s) of {steps} steps, "
         f"lr {t.contrastive_learning_rate:g}")
    before = pair_loss(model, probe)
    unfreeze(ctx.backbone)  # every block; BatchNorm stays in inference mode
    epochs = (pair_dataset(ctx.domain, ctx.contract, items, pairs.shuffled(t.seed + e), bs)
              for e in range(t.contrastive_epochs))
    losses = train_pairs(model, epochs, steps, t.contrastive_learning_rate)
    after = pair_loss(model, probe)
    _log(f"contrastive tuning: pair loss {before:.4f} -> {after:.4f} (inference mode, "
         f"{len(pairs.first(PROBE_PAIRS))} pairs)")
    summary = {"done": True, "pairs": len(pairs), "steps": steps * t.contrastive_epochs,
               "loss": losses, "pair_loss_before": before, "pair_loss_after": after}
    _save(ctx, model, summary)
    return summary


def _training_pairs(ctx) -> Pairs:
    if ctx.codec.task == "regression":
        raise ValueError("train.fine_tune_method='contrastive' needs class labels (pairs are "
                         "same-class or not); use 'full' for a regression task")
    labels = ctx.codec.encode(ctx.splits.train.labels)
    return contrastive_pairs(labels, seed=ctx.config.train.seed,
                             max_pairs=ctx.config.train.contrastive_pairs)


def _save(ctx, model, summary: dict) -> None:
    """The tuned encoder (canonical weight order), then its ``state.json`` entry."""
    from transferkit.common.io import atomic_path

    with atomic_path(ctx.ckpt / WEIGHTS_FILE) as tmp, all_trainable(model):
        model.save_weights(str(tmp), save_format="h5")
    state = cb.read_state(ctx.ckpt)
    state[PHASE] = summary
    cb.write_state(ctx.ckpt, state)
