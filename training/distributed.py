"""Training under tf.distribute: the strategy a run asks for, and the loop that trains under it.

``--strategy none`` trains with Keras' ``fit`` as always. ``mirrored`` (the devices of this
machine) and ``multiworker`` (the processes ``TF_CONFIG`` names, see ``training.launch``)
train the same network on the same batches with a custom loop: Keras 3's ``fit`` cannot run
under ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585; its symbolic build reduces a
per-replica batch and fails), while a ``tf.function`` around ``strategy.run`` is the loop
TensorFlow's own multi-worker guide uses. Each replica computes its share of the global
batch; gradients are summed across workers, so one worker and two give the same model up to
float rounding. The loop checkpoints the network, the optimizer and the epoch after every
epoch (``backup/`` in the chief's run folder, as Keras' BackupAndRestore does): a worker that
is killed is restarted with the others by the launcher, and they all resume from the last
finished epoch.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

STRATEGIES: tuple[str, ...] = ("none", "mirrored", "multiworker")
BACKUP_DIR = "backup"
HISTORY_FILE = "history.json"  # In the backup folder: the finished epochs' figures.


def make_strategy(name: str) -> Any | None:
    """The tf.distribute strategy ``name`` asks for (None for "none"); create it before any other TensorFlow work."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; choose one of {', '.join(STRATEGIES)}")
    if name == "none":
        return None
    import tensorflow as tf

    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    if "TF_CONFIG" not in os.environ:
        raise ValueError("--strategy multiworker needs TF_CONFIG (the cluster and this worker's index): "
                         "start the workers with `python -m training.launch` or `make train-distributed`")
    # Ring all-reduce over gRPC: the collective implementation that runs on CPUs.
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=tf.distribute.experimental.CommunicationImplementation.RING)
    return tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)


def worker_count(strategy: Any | None) -> int:
    """How many worker processes train together (1 without a multi-worker strategy)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return 1
    return len(resolver.cluster_spec().as_dict().get("worker", [])) or 1


def is_chief(strategy: Any | None) -> bool:
    """True for the process that writes the run folder: worker 0, or the only process."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return True
    return (resolver.task_type in (None, "chief")) or (resolver.task_type == "worker" and resolver.task_id == 0)


def fit(strategy: Any, network: Any, batches: Any, steps_per_epoch: int, epochs: int, global_batch_size: int,
        out: Path, validation: Any | None = None, verbose: int = 1) -> dict[str, list[float]]:
    """Train the compiled ``network`` under ``strategy`` on endless ``batches``; return the per-epoch history.

    The network must have been built and compiled inside ``strategy.scope()``; its optimizer
    and loss are the compiled ones. ``validation`` (one pass of (images, targets, weights))
    is scored by the chief after every epoch, on its own copy of the weights.
    """
    import tensorflow as tf

    optimizer, loss_object = network.optimizer, network.loss
    with strategy.scope():
        optimizer.build(network.trainable_variables)
        epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epochs_done")
    checkpoint = tf.train.Checkpoint(network=network, optimizer=optimizer, epoch=epoch)
    backup = Path(out) / BACKUP_DIR
    chief = is_chief(strategy)
    latest = tf.train.latest_checkpoint(str(backup))
    if latest:
        checkpoint.restore(latest).assert_existing_objects_matched()
        if verbose:
            print(f"resumed from {latest} after epoch {int(epoch.numpy())}")
    # Every worker runs the same save (TensorFlow's rule); only the chief's lands in the run folder.
    scratch = None if chief else Path(tempfile.mkdtemp(prefix="doodles-worker-"))
    manager = tf.train.CheckpointManager(checkpoint, str(scratch or backup), max_to_keep=1)
    options = tf.data.Options()
    # Every worker reads the same stream and keeps its part of each global batch: one worker
    # and N see the same batches (see docs/scaling.md for reading only one's own shards).
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    iterator = iter(strategy.experimental_distribute_dataset(batches.with_options(options)))

    def replica_step(images: tf.Tensor, targets: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            probabilities = network(images, training=True)
            per_row = loss_object.call(targets, probabilities)
            loss = tf.nn.compute_average_loss(per_row, global_batch_size=global_batch_size)
        gradients = tape.gradient(loss, network.trainable_variables)
        optimizer.apply_gradients(zip(gradients, network.trainable_variables))
        predicted = tf.argmax(probabilities, axis=-1)
        truth = tf.argmax(targets, axis=-1) if targets.shape.rank == 2 else tf.cast(targets, tf.int64)
        return loss, tf.reduce_sum(tf.cast(predicted == truth, tf.float32))

    @tf.function
    def train_step(iterator: Any) -> tuple[tf.Tensor, tf.Tensor]:
        loss, correct = strategy.run(replica_step, args=next(iterator))
        return (strategy.reduce(tf.distribute.ReduceOp.SUM, loss, axis=None),
                strategy.reduce(tf.distribute.ReduceOp.SUM, correct, axis=None))

    history: dict[str, list[float]] = {"loss": [], "accuracy": [], "images_per_second": []}
    if validation is not None and chief:
        history.update({"val_loss": [], "val_accuracy": []})
    if latest and chief and (backup / HISTORY_FILE).is_file():
        # The finished epochs' rows, so a resumed run reports every epoch.
        history = json.loads((backup / HISTORY_FILE).read_text())
    for _ in range(int(epoch.numpy())):
        # A resumed run skips the finished epochs' batches, so it sees what an unbroken one would.
        for _ in range(steps_per_epoch):
            next(iterator)
    traced = False
    while int(epoch.numpy()) < epochs:
        started, timed_steps = time.perf_counter(), 0
        losses, correct = 0.0, 0.0
        for _ in range(steps_per_epoch):
            loss, right = train_step(iterator)
            losses += float(loss)
            correct += float(right)
            if not traced:
                # The first step traces the graph and connects the workers: not training speed.
                traced, started = True, time.perf_counter()
            else:
                timed_steps += 1
        seconds = time.perf_counter() - started
        history["loss"].append(losses / steps_per_epoch)
        history["accuracy"].append(correct / (steps_per_epoch * global_batch_size))
        history["images_per_second"].append(timed_steps * global_batch_size / seconds if timed_steps else 0.0)
        if validation is not None and chief:
            val_loss, val_accuracy = _validate(network, loss_object, validation)
            history["val_loss"].append(val_loss)
            history["val_accuracy"].append(val_accuracy)
        epoch.assign_add(1)
        manager.save()
        if chief:
            (backup / HISTORY_FILE).write_text(json.dumps(history))
        if verbose:
            scores = ", ".join(f"{key} {values[-1]:.4f}" for key, values in history.items())
            print(f"epoch {int(epoch.numpy())}/{epochs}: {scores}")
    if scratch is not None:
        shutil.rmtree(scratch, ignore_errors=True)
    if optimizer.use_ema:
        # What Keras' fit does at its end: the averaged weights become the model's.
        optimizer.finalize_variable_values(network.trainable_variables)
    return history


def _validate(network: Any, loss_object: Any, validation: Any) -> tuple[float, float]:
    """Weighted mean loss and accuracy of one pass over (images, targets, weights) batches."""
    import tensorflow as tf

    total_loss = total_weight = correct = rows = 0.0
    for batch in validation:
        images, targets = batch[0], batch[1]
        weights = batch[2] if len(batch) > 2 else tf.ones(tf.shape(images)[0])
        probabilities = network(images, training=False)
        per_row = loss_object.call(targets, probabilities)
        total_loss += float(tf.reduce_sum(per_row * tf.cast(weights, per_row.dtype)))
        total_weight += float(tf.reduce_sum(weights))
        truth = tf.argmax(targets, axis=-1) if targets.shape.rank == 2 else tf.cast(targets, tf.int64)
        correct += float(tf.reduce_sum(tf.cast(tf.argmax(probabilities, axis=-1) == truth, tf.float32)))
        rows += float(tf.shape(images)[0])
    return total_loss / max(total_weight, 1e-12), correct / max(rows, 1.0)


def finish(out: Path) -> None:
    """Remove the backup once the run has written its model: a finished run is not resumed."""
    shutil.rmtree(Path(out) / BACKUP_DIR, ignore_errors=True)


def local_copy(model: Any) -> Any:
    """The model rebuilt outside any strategy, with the trained weights: evaluation and saving run on it."""
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def run_summary(strategy_name: str, strategy: Any | None, history: dict[str, list[float]]) -> dict[str, Any]:
    """What metrics.json says about how the run was distributed and how fast it went."""
    speeds = history.get("images_per_second") or []
    return {"strategy": strategy_name, "workers": worker_count(strategy),
            "replicas": int(getattr(strategy, "num_replicas_in_sync", 1)),
            "images_per_second": round(float(np.mean(speeds)), 1) if speeds else None}


def write_history(path: Path, history: dict[str, list[float]]) -> None:
    """The per-epoch history as CSV, the columns Keras' CSVLogger writes."""
    keys = sorted(history)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", *keys])
        for index in range(len(history["loss"])):
            writer.writerow([index, *(history[key][index] for key in keys)])
