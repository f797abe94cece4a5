"""Each spec builds exactly the model a Keras expert writes by hand.

Every pair: the spec through the real CLI (`summary --json`) against the same model in plain
Keras, written here from the seed and from keras.io examples. Total, trainable and
non-trainable parameter counts, output names and output shapes must be equal, and (through the
Python API) every layer's class and `get_config()`, names aside, and the names the hand-written
model gives on purpose. Two keras.applications models (VGG16, MobileNet; weights=None, so
nothing is downloaded) are compared the same way with every name and the model's config too.
"""

from __future__ import annotations

import json
import re

import pytest
from conftest import SPECS, TEST_SPECS

import kerasspec

keras = pytest.importorskip("keras")
layers = keras.layers


def my_example_model():
    return keras.Sequential(
        [
            keras.Input(shape=(3,)),
            layers.Dense(64, activation="relu", name="my_first_layer"),
            layers.Dense(10, activation="softmax", name="my_last_layer"),
        ],
        name="my_example_model",
    )


def ticket_classifier():
    vocabulary_size, num_tags, num_departments = 10000, 100, 4
    title = keras.Input(shape=(vocabulary_size,), name="title")
    text_body = keras.Input(shape=(vocabulary_size,), name="text_body")
    tags = keras.Input(shape=(num_tags,), name="tags")
    features = layers.Concatenate()([title, text_body, tags])
    features = layers.Dense(64, activation="relu")(features)
    priority = layers.Dense(1, activation="sigmoid", name="priority")(features)
    department = layers.Dense(num_departments, activation="softmax", name="department")(features)
    return keras.Model(inputs=[title, text_body, tags], outputs=[priority, department])


def mnist_convnet():
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(
                32, kernel_size=(3, 3), activation="relu", kernel_initializer=keras.initializers.HeNormal(seed=1)
            ),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(
                10, activation="softmax", name="class_probabilities", kernel_regularizer=keras.regularizers.L2(1e-4)
            ),
        ]
    )


def text_cnn():
    inputs = keras.Input(shape=(None,), dtype="int64")
    x = layers.Embedding(20000, 128)(inputs)
    x = layers.Dropout(0.5)(x)
    x = layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(x)
    x = layers.Conv1D(128, 7, padding="valid", activation="relu", strides=3)(x)
    x = layers.GlobalMaxPooling1D()(x)
    x = layers.Dense(128, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    predictions = layers.Dense(1, activation="sigmoid", name="predictions")(x)
    return keras.Model(inputs, predictions)


def bidirectional_lstm():
    # The spec is sequential (one `input:`), so the reference is a Sequential model too.
    return keras.Sequential(
        [
            keras.Input(shape=(None,), dtype="int32"),
            layers.Embedding(20000, 128),
            layers.Bidirectional(layers.LSTM(64, return_sequences=True)),
            layers.Bidirectional(layers.LSTM(64)),
            layers.Dense(1, activation="sigmoid"),
        ]
    )


def toy_resnet():
    inputs = keras.Input(shape=(32, 32, 3), name="img")
    x = layers.Conv2D(32, 3, activation="relu")(inputs)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    block_1_output = layers.MaxPooling2D(3)(x)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_1_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_2_output = layers.add([x, block_1_output])
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(block_2_output)
    x = layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    block_3_output = layers.add([x, block_2_output])
    x = layers.Conv2D(64, 3, activation="relu")(block_3_output)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dense(256, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10, name="logits")(x)
    return keras.Model(inputs, outputs, name="toy_resnet")


def seq2seq():
    latent_dim, num_encoder_tokens, num_decoder_tokens = 256, 71, 93
    encoder_inputs = keras.Input(shape=(None, num_encoder_tokens))
    encoder = layers.LSTM(latent_dim, return_state=True)
    _, state_h, state_c = encoder(encoder_inputs)
    decoder_inputs = keras.Input(shape=(None, num_decoder_tokens))
    decoder_lstm = layers.LSTM(latent_dim, return_sequences=True, return_state=True)
    decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=[state_h, state_c])
    decoder_outputs = layers.Dense(num_decoder_tokens, activation="softmax", name="decoder_dense")(decoder_outputs)
    return keras.Model([encoder_inputs, decoder_inputs], decoder_outputs)


def transformer_block():
    maxlen, vocab_size, embed_dim, num_heads, ff_dim = 200, 20000, 32, 2, 32
    inputs = layers.Input(shape=(maxlen,))
    x = layers.Embedding(input_dim=vocab_size, output_dim=embed_dim)(inputs)
    attn_output = layers.MultiHeadAttention(num_heads=num_heads, key_dim=embed_dim)(x, x)
    attn_output = layers.Dropout(0.1)(attn_output)
    # keras.io writes `x + attn_output` and a nested Sequential feed-forward net; the same
    # computation with Add layers and the two Dense layers inline is what the spec declares.
    out1 = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([x, attn_output]))
    ffn_output = layers.Dense(embed_dim)(layers.Dense(ff_dim, activation="relu")(out1))
    ffn_output = layers.Dropout(0.1)(ffn_output)
    x = layers.LayerNormalization(epsilon=1e-6)(layers.Add()([out1, ffn_output]))
    x = layers.GlobalAveragePooling1D()(x)
    x = layers.Dropout(0.1)(x)
    x = layers.Dense(20, activation="relu")(x)
    x = layers.Dropout(0.1)(x)
    outputs = layers.Dense(2, activation="softmax", name="classes")(x)
    return keras.Model(inputs=inputs, outputs=outputs)


def ticket_ranker():
    num_tags, num_words, num_departments = 12, 10000, 4
    title_input = keras.Input(shape=(None,), name="title")
    body_input = keras.Input(shape=(None,), name="body")
    tags_input = keras.Input(shape=(num_tags,), name="tags")
    title_features = layers.LSTM(128)(layers.Embedding(num_words, 64)(title_input))
    body_features = layers.LSTM(32)(layers.Embedding(num_words, 64)(body_input))
    x = layers.concatenate([title_features, body_features, tags_input])
    priority_pred = layers.Dense(1, name="priority")(x)
    department_pred = layers.Dense(num_departments, name="department")(x)
    return keras.Model(
        inputs=[title_input, body_input, tags_input],
        outputs={"priority": priority_pred, "department": department_pred},
    )


def batchnorm_convnet():
    return keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, 3, use_bias=False),
            layers.BatchNormalization(),
            layers.Activation("relu"),
            layers.Conv2D(64, 3, use_bias=False),
            layers.BatchNormalization(momentum=0.9),
            layers.Activation("relu"),
            layers.GlobalAveragePooling2D(),
            layers.Dense(10, activation="softmax", kernel_regularizer=keras.regularizers.L2(1e-4)),
        ]
    )


def autoencoder():
    encoder = keras.Sequential(
        [keras.Input(shape=(784,)), layers.Dense(128, activation="relu"), layers.Dense(32, activation="relu")],
        name="encoder",
    )
    decoder = keras.Sequential(
        [
            keras.Input(shape=(32,)),
            layers.Dense(128, activation="relu"),
            layers.Dense(784, activation="sigmoid", name="reconstruction"),
        ],
        name="decoder",
    )
    image = keras.Input(shape=(784,), name="image")
    return keras.Model(image, decoder(encoder(image)))


def siamese_similarity():
    left = keras.Input(shape=(20,), dtype="int32", name="left")
    right = keras.Input(shape=(20,), dtype="int32", name="right")
    embed = layers.Embedding(5000, 64)
    encode = layers.LSTM(32)
    pair = layers.Concatenate()([encode(embed(left)), encode(embed(right))])
    similar = layers.Dense(1, activation="sigmoid", name="similar")(pair)
    return keras.Model([left, right], similar)


PAIRS = {
    "my_example_model": (SPECS / "my_example_model.yaml", my_example_model),
    "ticket_classifier": (SPECS / "ticket_classifier.yaml", ticket_classifier),
    "mnist_convnet": (SPECS / "mnist_convnet.yaml", mnist_convnet),
    "text_cnn": (TEST_SPECS / "text_cnn.yaml", text_cnn),
    "bidirectional_lstm": (TEST_SPECS / "bidirectional_lstm.yaml", bidirectional_lstm),
    "toy_resnet": (TEST_SPECS / "toy_resnet.yaml", toy_resnet),
    "seq2seq": (SPECS / "seq2seq.yaml", seq2seq),
    "transformer_block": (TEST_SPECS / "transformer_block.yaml", transformer_block),
    "multi_io_dict": (TEST_SPECS / "multi_io_dict.yaml", ticket_ranker),
    "batchnorm_convnet": (TEST_SPECS / "batchnorm_convnet.yaml", batchnorm_convnet),
    "nested_autoencoder": (SPECS / "autoencoder.yaml", autoencoder),
    "shared_siamese": (SPECS / "siamese_similarity.yaml", siamese_similarity),
}


def hand_written_figures(model) -> dict:
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    non_trainable = sum(int(w.numpy().size) for w in model.non_trainable_weights)
    outputs = model.outputs
    return {
        "params": {"total": model.count_params(), "trainable": trainable, "non_trainable": non_trainable},
        "outputs": sorted(([list(o.shape)[1:] for o in outputs]), key=str),
        "output_names": sorted(model.output_names) if len(outputs) > 1 else None,
    }


def spec_figures(document: dict) -> dict:
    return {
        "params": document["params"],
        "outputs": sorted((o["shape"] for o in document["outputs"]), key=str),
        "output_names": sorted(o["name"] for o in document["outputs"]) if len(document["outputs"]) > 1 else None,
    }


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_spec_equals_hand_written_keras(cli, pair):
    spec, hand_written = PAIRS[pair]
    result = cli("summary", "--json", spec)
    assert result.exit_code == 0, result.stderr
    ours = spec_figures(json.loads(result.stdout))
    theirs = hand_written_figures(hand_written())
    assert ours == theirs
    if pair == "batchnorm_convnet":
        assert ours["params"]["non_trainable"] == 2 * (32 + 64)  # moving mean and variance


def test_shared_layers_share_weights(cli):
    document = json.loads(cli("summary", "--json", SPECS / "siamese_similarity.yaml").stdout)
    rows = {row["name"]: row for row in document["layers"]}
    assert rows["embed"]["calls"] == 2 and rows["encode"]["calls"] == 2
    assert "embed_right" not in rows  # the reuse entry is a second call, not a second layer
    unshared = 5000 * 64 + 4 * (32 * (64 + 32) + 32) + (64 + 1)
    assert document["params"]["total"] == unshared  # not doubled


def auto_named(layer) -> bool:
    """Whether Keras made the layer's name up (`dense`, `dense_3`: a process-wide counter)."""
    from keras.src.utils.naming import to_snake_case

    base = "input_layer" if isinstance(layer, layers.InputLayer) else to_snake_case(type(layer).__name__)
    return re.fullmatch(rf"{base}(_\d+)?", layer.name) is not None


def without_names(value, owner: str | None = None):
    """A config with every layer name taken out (nested layers' too); a dtype policy's name,
    which is its dtype, is kept."""
    if isinstance(value, dict):
        return {
            key: without_names(item, value.get("class_name") if key == "config" else None)
            for key, item in value.items()
            if key != "name" or owner in ("DTypePolicy", "FloatDTypePolicy")
        }
    if isinstance(value, (list, tuple)):
        return [without_names(item) for item in value]
    return value


def layer_configs(model) -> list:
    """Every layer in order, nested models' layers inside, as (class, config without names)."""
    rows = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            rows.append((type(layer).__name__, layer_configs(layer)))
        else:
            config = dict(layer.get_config())
            config.pop("name", None)
            rows.append((type(layer).__name__, without_names(config)))
    return rows


def sorted_configs(rows: list) -> list:
    """Layer order differs where two branches are independent, so layers are compared as a multiset."""
    return sorted(
        ((kind, sorted_configs(config)) if isinstance(config, list) else (kind, config) for kind, config in rows),
        key=lambda row: json.dumps(row, sort_keys=True, default=str),
    )


def layer_names(model, prefix: str = "") -> dict[str, tuple[str, bool]]:
    """Each layer's place (`3`, nested: `1.2`) -> (name, whether Keras made the name up)."""
    found = {}
    for index, layer in enumerate(model.layers):
        found[f"{prefix}{index}"] = (layer.name, auto_named(layer))
        if isinstance(layer, keras.Model):
            found.update(layer_names(layer, f"{prefix}{index}."))
    return found


@pytest.mark.parametrize("pair", sorted(PAIRS))
def test_every_layer_config_equals_hand_written_keras(pair):
    """Not only the counts: each layer's class and get_config() (names aside, as Keras numbers
    unnamed layers from a process-wide counter) match the hand-written model, layer by layer."""
    spec, hand_written = PAIRS[pair]
    ours, theirs = kerasspec.load(spec).build(), hand_written()
    assert sorted_configs(layer_configs(ours)) == sorted_configs(layer_configs(theirs))
    # Where the hand-written model names a layer on purpose, the spec's layer has that name.
    ours_named, theirs_named = layer_names(ours), layer_names(theirs)
    explicit = {place: name for place, (name, auto) in theirs_named.items() if not auto}
    assert {place: ours_named[place][0] for place in explicit} == explicit


# keras.applications models, built with weights=None (nothing is downloaded), against specs that
# write the same architecture out layer by layer with the names Keras gives the layers there.
APPLICATIONS = {
    "vgg16": (
        TEST_SPECS / "vgg16_small.yaml",
        lambda: keras.applications.VGG16(weights=None, include_top=True, input_shape=(32, 32, 3), classes=10),
    ),
    "mobilenet": (
        TEST_SPECS / "mobilenet_small.yaml",
        lambda: keras.applications.MobileNet(weights=None, input_shape=(32, 32, 3), alpha=0.25, classes=10),
    ),
}


def parameter_counts(model) -> dict[str, int]:
    return {
        "total": model.count_params(),
        "trainable": sum(int(w.numpy().size) for w in model.trainable_weights),
        "non_trainable": sum(int(w.numpy().size) for w in model.non_trainable_weights),
    }


def typed(value) -> str:
    """A config value as JSON: `==` takes 6 for 6.0 and 1 for True; this does not (tuples and
    lists are one thing to it, as they are once the config is serialized)."""
    return json.dumps(value, sort_keys=True, default=repr)


@pytest.mark.parametrize("application", sorted(APPLICATIONS))
def test_spec_equals_keras_application(application):
    """The application and the spec: same model class and name, parameter counts, input and
    output shapes, for every layer (same names in the same order) the same class and the whole
    get_config(), names included, and the same model get_config() (the wiring). Nothing these
    two applications set is beyond the format (MobileNet's blocks are written out by hand)."""
    spec, build_application = APPLICATIONS[application]
    # The applications leave their input unnamed; Keras numbers it from a process-wide counter, so
    # start the counter afresh: the input is then named `input_layer`, as in a new process.
    keras.utils.clear_session()
    theirs = build_application()
    ours = kerasspec.load(spec).build()

    assert (type(ours).__name__, ours.name) == (type(theirs).__name__, theirs.name)
    assert parameter_counts(ours) == parameter_counts(theirs)
    assert [list(t.shape) for t in ours.inputs] == [list(t.shape) for t in theirs.inputs]
    assert [list(t.shape) for t in ours.outputs] == [list(t.shape) for t in theirs.outputs]
    assert [layer.name for layer in ours.layers] == [layer.name for layer in theirs.layers]
    for mine, reference in zip(ours.layers, theirs.layers, strict=True):
        assert type(mine) is type(reference), mine.name
        ours_config, theirs_config = mine.get_config(), reference.get_config()
        differing = sorted(
            k
            for k in ours_config.keys() | theirs_config.keys()
            if typed(ours_config.get(k)) != typed(theirs_config.get(k))
        )
        assert differing == [], (mine.name, {k: (ours_config.get(k), theirs_config.get(k)) for k in differing})
    # And the model's own config: the same layers wired the same way (each call's inbound tensors).
    assert typed(ours.get_config()) == typed(theirs.get_config())
