"""FID and KID on a folder of your own images: a feature classifier trained on a labelled
folder, saved and reloaded by name, and any Keras classifier wrapped as one."""

import keras
import numpy as np
import pytest
from image_folders import colour_digits, write_images

from keras_genzoo.data import load_arrays
from keras_genzoo.evaluation import (
    FeatureClassifier,
    fid,
    kid,
    load_feature_classifier,
    train_feature_classifier,
)


def _train(tmp_path, count: int, epochs: int):
    folder = tmp_path / "pictures"
    images, labels = colour_digits(count, (16, 16), seed=4)
    write_images(folder, images, labels)
    weights = tmp_path / "classifiers"
    record = train_feature_classifier(
        str(folder), name="pictures", epochs=epochs, batch_size=32, weights_dir=str(weights)
    )
    return folder, record, load_feature_classifier("pictures", weights_dir=str(weights))


def test_a_classifier_trained_on_a_labelled_folder_is_saved_and_reloaded(tmp_path):
    folder, record, classifier = _train(tmp_path, 100, epochs=1)
    assert record["dataset"] == "pictures" and record["image_shape"] == [16, 16, 3]
    assert record["class_names"] == [str(c) for c in range(10)]
    assert record["architecture"]["strides"] == [2, 2, 2] and record["test_examples"] == 20
    assert classifier.test_accuracy == record["test_accuracy"]
    test, y_test, _ = load_arrays(folder, "test")
    assert classifier.accuracy(test, y_test) == pytest.approx(record["test_accuracy"], abs=1e-4)
    assert fid(test, test, classifier) == pytest.approx(0.0, abs=1e-3)

    # A copy of the network that takes [0, 255] pixels, wrapped: identical features.
    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    copies = []
    for layer in classifier.model.layers[1:]:
        copies.append((type(layer).from_config(layer.get_config()), layer))
        x = copies[-1][0](x)
    for copy, layer in copies:
        copy.set_weights(layer.get_weights())
    wrapped = FeatureClassifier.from_model(
        keras.Model(inputs, x), feature_layer="features", input_range=(0, 255)
    )
    np.testing.assert_allclose(
        wrapped.features(test * 2 - 1, (-1, 1)), classifier.features(test), rtol=1e-4, atol=1e-4
    )
    penultimate = FeatureClassifier.from_model(classifier.model)  # the dropout's output
    np.testing.assert_allclose(penultimate.features(test), classifier.features(test), atol=1e-5)
    with pytest.raises(ValueError, match="has no layer 'pool'; its layers are image, conv0"):
        FeatureClassifier.from_model(classifier.model, feature_layer="pool")


@pytest.mark.slow
def test_a_folder_classifier_learns_the_classes_and_fid_sees_lost_colour(tmp_path):
    folder, record, classifier = _train(tmp_path, 400, epochs=15)
    assert record["test_accuracy"] > 0.8, record  # chance: 0.1; ink colour gives it away
    train, _, _ = load_arrays(folder, "train")
    test, _, _ = load_arrays(folder, "test")
    grey = np.repeat(test.mean(axis=-1, keepdims=True), 3, axis=-1)  # colour removed
    floor = fid(train, test, classifier)
    assert fid(test, grey, classifier) > 5 * floor
    options = dict(subset_size=40, num_subsets=4)
    assert kid(test, grey, classifier, **options).mean > kid(train, test, classifier, **options).mean


def test_a_classifier_needs_labels_and_a_name(tmp_path):
    images, _ = colour_digits(10, (16, 16))
    write_images(tmp_path, images)
    with pytest.raises(ValueError, match="Name the classifier with name="):
        train_feature_classifier(str(tmp_path))
    with pytest.raises(ValueError, match="no class labels; use a folder with one subfolder per class"):
        train_feature_classifier(str(tmp_path), name="mine")
