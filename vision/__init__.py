"""The vision domain: Keras-application CNNs, TF-Hub image models and your own model.

Importing this package registers the ``"vision"`` domain and every backbone, named weight
set and dataset in its modules (a new backbone is one new file here). A run's SavedModel
takes encoded image bytes (``serving_default``) or float images of any size
(``serving_images``): :mod:`transferkit.vision.serving`.
"""
from transferkit.common.data.domain import Domain, register_domain
from transferkit.common.data.files import input_files
from transferkit.common.plugins import import_submodules
from transferkit.vision.data import (IMAGE_EXTENSIONS, check_image, make_image_dataset,
                                     read_image_source)
from transferkit.vision.serving import predict_images, serving_model


def read_image_inputs(args: list[str]) -> list[str]:
    """CLI predict inputs: image files, or folders searched recursively."""
    return input_files(args, IMAGE_EXTENSIONS, "image")


register_domain(Domain(name="vision", read_source=read_image_source,
                       make_dataset=make_image_dataset, read_inputs=read_image_inputs,
                       serving_model=serving_model, predict=predict_images,
                       check_input=check_image, file_items=True))
import_submodules(__name__)
