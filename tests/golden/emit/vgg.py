"""TF-Slim model definitions compiled by slimlang from vgg.slim.

Models: vgg_a, vgg_16, vgg_19.  Each returns `net, end_points` like tf_slim.nets;
build it under its defaults' arg_scope, as the model docstrings show.

Generated code: edit vgg.slim and run `slimlang build vgg.slim --emit py` again.
"""

try:  # slimlang's shim lets tf_slim 1.1.0 run on current TensorFlow
    from slimlang.tfcompat import slim, tf
except ImportError:
    import tensorflow as tf
    import tf_slim as slim


def vgg_arg_scope(weight_decay=0.0005):
    """Defaults `vgg_arg_scope` of vgg.slim (line 5): the arg_scope its models are
    built under.

    Returns:
      An arg_scope (use it as `with slim.arg_scope(...)`).
    """
    with slim.arg_scope(
        [slim.conv2d, slim.fully_connected],
        activation_fn=tf.nn.relu,
        weights_regularizer=slim.l2_regularizer(weight_decay),
        biases_initializer=tf.compat.v1.zeros_initializer(),
    ):
        with slim.arg_scope([slim.conv2d], padding="SAME") as arg_sc:
            return arg_sc


@slim.add_arg_scope
def vgg_head(
    inputs,
    num_classes,
    is_training,
    dropout_keep_prob,
    spatial_squeeze,
    end_points=None,
    final_endpoint=None,
):
    """Block `vgg_head` of vgg.slim (line 12): inline, it opens no variable scope.

    Records its end points in `end_points`; returns early at `final_endpoint`.
    """
    end_points = {} if end_points is None else end_points
    net = slim.conv2d(inputs, 4096, [7, 7], padding="VALID", scope="fc6")  # vgg.slim:13
    net = slim.dropout(
        net, dropout_keep_prob, is_training=is_training, scope="dropout6"
    )  # vgg.slim:14
    net = slim.conv2d(net, 4096, [1, 1], scope="fc7")  # vgg.slim:15
    net = slim.dropout(
        net, dropout_keep_prob, is_training=is_training, scope="dropout7"
    )  # vgg.slim:16
    net = slim.conv2d(
        net, num_classes, [1, 1], activation_fn=None, normalizer_fn=None, scope="fc8"
    )  # vgg.slim:17
    if spatial_squeeze:
        net = tf.squeeze(net, [1, 2], name="fc8/squeezed")  # vgg.slim:19
        end_point = tf.compat.v1.get_variable_scope().name + "/fc8"
        end_points[end_point] = net
        if final_endpoint == end_point:
            return net
    return net


def vgg_a(
    inputs,
    num_classes=1000,
    is_training=True,
    dropout_keep_prob=0.5,
    spatial_squeeze=True,
    scope="vgg_a",
):
    """Model `vgg_a` of vgg.slim (line 24).

    Like tf_slim's nets it does not open its defaults itself; build it under them:

        with slim.arg_scope(vgg_arg_scope()):
            net, end_points = vgg_a(inputs)

    Args:
      inputs: a tensor of shape [batch, 224, 224, 3].
      scope: optional variable scope name.

    Returns:
      net: the output tensor.
      end_points: a dict of the end points by name.
    """
    with tf.compat.v1.variable_scope(scope, "vgg_a", [inputs]) as sc:
        end_points_collection = sc.original_name_scope + "_end_points"
        end_points = {}
        with slim.arg_scope(
            [slim.conv2d, slim.max_pool2d], outputs_collections=end_points_collection
        ):
            net = slim.repeat(
                inputs, 1, slim.conv2d, 64, [3, 3], scope="conv1"
            )  # vgg.slim:27
            net = slim.max_pool2d(net, [2, 2], scope="pool1")  # vgg.slim:27
            net = slim.repeat(
                net, 1, slim.conv2d, 128, [3, 3], scope="conv2"
            )  # vgg.slim:28
            net = slim.max_pool2d(net, [2, 2], scope="pool2")  # vgg.slim:28
            net = slim.repeat(
                net, 2, slim.conv2d, 256, [3, 3], scope="conv3"
            )  # vgg.slim:29
            net = slim.max_pool2d(net, [2, 2], scope="pool3")  # vgg.slim:29
            net = slim.repeat(
                net, 2, slim.conv2d, 512, [3, 3], scope="conv4"
            )  # vgg.slim:30
            net = slim.max_pool2d(net, [2, 2], scope="pool4")  # vgg.slim:30
            net = slim.repeat(
                net, 2, slim.conv2d, 512, [3, 3], scope="conv5"
            )  # vgg.slim:31
            net = slim.max_pool2d(net, [2, 2], scope="pool5")  # vgg.slim:31
            net = vgg_head(
                net,
                num_classes,
                is_training,
                dropout_keep_prob,
                spatial_squeeze,
                end_points=end_points,
            )  # vgg.slim:32
        end_points = {
            **slim.utils.convert_collection_to_dict(end_points_collection),
            **end_points,
        }
        return net, end_points


vgg_a.default_image_size = 224


def vgg_16(
    inputs,
    num_classes=1000,
    is_training=True,
    dropout_keep_prob=0.5,
    spatial_squeeze=True,
    scope="vgg_16",
):
    """Model `vgg_16` of vgg.slim (line 35).

    Like tf_slim's nets it does not open its defaults itself; build it under them:

        with slim.arg_scope(vgg_arg_scope()):
            net, end_points = vgg_16(inputs)

    Args:
      inputs: a tensor of shape [batch, 224, 224, 3].
      scope: optional variable scope name.

    Returns:
      net: the output tensor.
      end_points: a dict of the end points by name.
    """
    with tf.compat.v1.variable_scope(scope, "vgg_16", [inputs]) as sc:
        end_points_collection = sc.original_name_scope + "_end_points"
        end_points = {}
        with slim.arg_scope(
            [slim.conv2d, slim.fully_connected, slim.max_pool2d],
            outputs_collections=end_points_collection,
        ):
            net = slim.repeat(
                inputs, 2, slim.conv2d, 64, [3, 3], scope="conv1"
            )  # vgg.slim:38
            net = slim.max_pool2d(net, [2, 2], scope="pool1")  # vgg.slim:38
            net = slim.repeat(
                net, 2, slim.conv2d, 128, [3, 3], scope="conv2"
            )  # vgg.slim:39
            net = slim.max_pool2d(net, [2, 2], scope="pool2")  # vgg.slim:39
            net = slim.repeat(
                net, 3, slim.conv2d, 256, [3, 3], scope="conv3"
            )  # vgg.slim:40
            net = slim.max_pool2d(net, [2, 2], scope="pool3")  # vgg.slim:40
            net = slim.repeat(
                net, 3, slim.conv2d, 512, [3, 3], scope="conv4"
            )  # vgg.slim:41
            net = slim.max_pool2d(net, [2, 2], scope="pool4")  # vgg.slim:41
            net = slim.repeat(
                net, 3, slim.conv2d, 512, [3, 3], scope="conv5"
            )  # vgg.slim:42
            net = slim.max_pool2d(net, [2, 2], scope="pool5")  # vgg.slim:42
            net = vgg_head(
                net,
                num_classes,
                is_training,
                dropout_keep_prob,
                spatial_squeeze,
                end_points=end_points,
            )  # vgg.slim:43
        end_points = {
            **slim.utils.convert_collection_to_dict(end_points_collection),
            **end_points,
        }
        return net, end_points


vgg_16.default_image_size = 224


def vgg_19(
    inputs,
    num_classes=1000,
    is_training=True,
    dropout_keep_prob=0.5,
    spatial_squeeze=True,
    scope="vgg_19",
):
    """Model `vgg_19` of vgg.slim (line 46).

    Like tf_slim's nets it does not open its defaults itself; build it under them:

        with slim.arg_scope(vgg_arg_scope()):
            net, end_points = vgg_19(inputs)

    Args:
      inputs: a tensor of shape [batch, 224, 224, 3].
      scope: optional variable scope name.

    Returns:
      net: the output tensor.
      end_points: a dict of the end points by name.
    """
    with tf.compat.v1.variable_scope(scope, "vgg_19", [inputs]) as sc:
        end_points_collection = sc.original_name_scope + "_end_points"
        end_points = {}
        with slim.arg_scope(
            [slim.conv2d, slim.fully_connected, slim.max_pool2d],
            outputs_collections=end_points_collection,
        ):
            net = slim.repeat(
                inputs, 2, slim.conv2d, 64, [3, 3], scope="conv1"
            )  # vgg.slim:49
            net = slim.max_pool2d(net, [2, 2], scope="pool1")  # vgg.slim:49
            net = slim.repeat(
                net, 2, slim.conv2d, 128, [3, 3], scope="conv2"
            )  # vgg.slim:50
            net = slim.max_pool2d(net, [2, 2], scope="pool2")  # vgg.slim:50
            net = slim.repeat(
                net, 4, slim.conv2d, 256, [3, 3], scope="conv3"
            )  # vgg.slim:51
            net = slim.max_pool2d(net, [2, 2], scope="pool3")  # vgg.slim:51
            net = slim.repeat(
                net, 4, slim.conv2d, 512, [3, 3], scope="conv4"
            )  # vgg.slim:52
            net = slim.max_pool2d(net, [2, 2], scope="pool4")  # vgg.slim:52
            net = slim.repeat(
                net, 4, slim.conv2d, 512, [3, 3], scope="conv5"
            )  # vgg.slim:53
            net = slim.max_pool2d(net, [2, 2], scope="pool5")  # vgg.slim:53
            net = vgg_head(
                net,
                num_classes,
                is_training,
                dropout_keep_prob,
                spatial_squeeze,
                end_points=end_points,
            )  # vgg.slim:54
        end_points = {
            **slim.utils.convert_collection_to_dict(end_points_collection),
            **end_points,
        }
        return net, end_points


vgg_19.default_image_size = 224
