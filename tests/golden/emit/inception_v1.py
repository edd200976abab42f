"""TF-Slim model definitions compiled by slimlang from inception_v1.slim.

Models: inception_v1_base, inception_v1.  Each returns `net, end_points` like
tf_slim.nets;
build it under its defaults' arg_scope, as the model docstrings show.

Generated code: edit inception_v1.slim and run `slimlang build inception_v1.slim
--emit py` again.
"""

try:  # slimlang's shim lets tf_slim 1.1.0 run on current TensorFlow
    from slimlang.tfcompat import slim, tf
except ImportError:
    import tensorflow as tf
    import tf_slim as slim


def inception_v1_arg_scope(
    weight_decay=4e-05, use_batch_norm=True, batch_norm_var_collection="moving_vars"
):
    """Defaults `inception_v1_arg_scope` of inception_v1.slim (line 9): the arg_scope
    its models are built under.

    Returns:
      An arg_scope (use it as `with slim.arg_scope(...)`).
    """
    with slim.arg_scope(
        [slim.conv2d, slim.fully_connected],
        weights_regularizer=slim.l2_regularizer(weight_decay),
    ):
        with slim.arg_scope(
            [slim.conv2d],
            weights_initializer=slim.variance_scaling_initializer(),
            activation_fn=tf.nn.relu,
            normalizer_fn=slim.batch_norm if use_batch_norm else None,
            normalizer_params=(
                {
                    "decay": 0.9997,
                    "epsilon": 0.001,
                    "updates_collections": tf.compat.v1.GraphKeys.UPDATE_OPS,
                    "variables_collections": {
                        "beta": None,
                        "gamma": None,
                        "moving_mean": [batch_norm_var_collection],
                        "moving_variance": [batch_norm_var_collection],
                    },
                }
                if use_batch_norm
                else {}
            ),
        ) as arg_sc:
            return arg_sc


@slim.add_arg_scope
def mixed(inputs, d0, d1a, d1b, d2a, d2b, d3, b2_name="Conv2d_0b_3x3", scope=None):
    """Block `mixed` of inception_v1.slim (line 23)."""
    with tf.compat.v1.variable_scope(scope, "mixed", [inputs]):
        with tf.compat.v1.variable_scope("Branch_0"):  # inception_v1.slim:24
            b0 = slim.conv2d(
                inputs, d0, [1, 1], scope="Conv2d_0a_1x1"
            )  # inception_v1.slim:24
        with tf.compat.v1.variable_scope("Branch_1"):  # inception_v1.slim:25
            b1 = slim.conv2d(
                inputs, d1a, [1, 1], scope="Conv2d_0a_1x1"
            )  # inception_v1.slim:25
            b1 = slim.conv2d(
                b1, d1b, [3, 3], scope="Conv2d_0b_3x3"
            )  # inception_v1.slim:25
        with tf.compat.v1.variable_scope("Branch_2"):  # inception_v1.slim:26
            b2 = slim.conv2d(
                inputs, d2a, [1, 1], scope="Conv2d_0a_1x1"
            )  # inception_v1.slim:26
            b2 = slim.conv2d(b2, d2b, [3, 3], scope=b2_name)  # inception_v1.slim:26
        with tf.compat.v1.variable_scope("Branch_3"):  # inception_v1.slim:27
            b3 = slim.max_pool2d(
                inputs, [3, 3], scope="MaxPool_0a_3x3"
            )  # inception_v1.slim:27
            b3 = slim.conv2d(
                b3, d3, [1, 1], scope="Conv2d_0b_1x1"
            )  # inception_v1.slim:27
        net = tf.concat([b0, b1, b2, b3], 3)  # inception_v1.slim:28
        return net


@slim.add_arg_scope
def inception_v1_layers(inputs, end_points=None, final_endpoint=None):
    """Block `inception_v1_layers` of inception_v1.slim (line 33): inline, it opens no
    variable scope.

    Records its end points in `end_points`; returns early at `final_endpoint`.
    """
    end_points = {} if end_points is None else end_points
    with slim.arg_scope(
        [slim.conv2d, slim.fully_connected],
        weights_initializer=tf.compat.v1.truncated_normal_initializer(stddev=0.01),
    ):
        with slim.arg_scope([slim.conv2d, slim.max_pool2d], stride=1, padding="SAME"):
            net = slim.conv2d(
                inputs, 64, [7, 7], stride=2, scope="Conv2d_1a_7x7"
            )  # inception_v1.slim:36
            end_points["Conv2d_1a_7x7"] = net
            if final_endpoint == "Conv2d_1a_7x7":
                return net
            net = slim.max_pool2d(
                net, [3, 3], stride=2, scope="MaxPool_2a_3x3"
            )  # inception_v1.slim:37
            end_points["MaxPool_2a_3x3"] = net
            if final_endpoint == "MaxPool_2a_3x3":
                return net
            net = slim.conv2d(
                net, 64, [1, 1], scope="Conv2d_2b_1x1"
            )  # inception_v1.slim:38
            end_points["Conv2d_2b_1x1"] = net
            if final_endpoint == "Conv2d_2b_1x1":
                return net
            net = slim.conv2d(
                net, 192, [3, 3], scope="Conv2d_2c_3x3"
            )  # inception_v1.slim:39
            end_points["Conv2d_2c_3x3"] = net
            if final_endpoint == "Conv2d_2c_3x3":
                return net
            net = slim.max_pool2d(
                net, [3, 3], stride=2, scope="MaxPool_3a_3x3"
            )  # inception_v1.slim:40
            end_points["MaxPool_3a_3x3"] = net
            if final_endpoint == "MaxPool_3a_3x3":
                return net
            net = mixed(
                net, 64, 96, 128, 16, 32, 32, scope="Mixed_3b"
            )  # inception_v1.slim:41
            end_points["Mixed_3b"] = net
            if final_endpoint == "Mixed_3b":
                return net
            net = mixed(
                net, 128, 128, 192, 32, 96, 64, scope="Mixed_3c"
            )  # inception_v1.slim:42
            end_points["Mixed_3c"] = net
            if final_endpoint == "Mixed_3c":
                return net
            net = slim.max_pool2d(
                net, [3, 3], stride=2, scope="MaxPool_4a_3x3"
            )  # inception_v1.slim:43
            end_points["MaxPool_4a_3x3"] = net
            if final_endpoint == "MaxPool_4a_3x3":
                return net
            net = mixed(
                net, 192, 96, 208, 16, 48, 64, scope="Mixed_4b"
            )  # inception_v1.slim:44
            end_points["Mixed_4b"] = net
            if final_endpoint == "Mixed_4b":
                return net
            net = mixed(
                net, 160, 112, 224, 24, 64, 64, scope="Mixed_4c"
            )  # inception_v1.slim:45
            end_points["Mixed_4c"] = net
            if final_endpoint == "Mixed_4c":
                return net
            net = mixed(
                net, 128, 128, 256, 24, 64, 64, scope="Mixed_4d"
            )  # inception_v1.slim:46
            end_points["Mixed_4d"] = net
            if final_endpoint == "Mixed_4d":
                return net
            net = mixed(
                net, 112, 144, 288, 32, 64, 64, scope="Mixed_4e"
            )  # inception_v1.slim:47
            end_points["Mixed_4e"] = net
            if final_endpoint == "Mixed_4e":
                return net
            net = mixed(
                net, 256, 160, 320, 32, 128, 128, scope="Mixed_4f"
            )  # inception_v1.slim:48
            end_points["Mixed_4f"] = net
            if final_endpoint == "Mixed_4f":
                return net
            net = slim.max_pool2d(
                net, [2, 2], stride=2, scope="MaxPool_5a_2x2"
            )  # inception_v1.slim:49
            end_points["MaxPool_5a_2x2"] = net
            if final_endpoint == "MaxPool_5a_2x2":
                return net
            net = mixed(
                net,
                256,
                160,
                320,
                32,
                128,
                128,
                b2_name="Conv2d_0a_3x3",
                scope="Mixed_5b",
            )  # inception_v1.slim:50
            end_points["Mixed_5b"] = net
            if final_endpoint == "Mixed_5b":
                return net
            net = mixed(
                net, 384, 192, 384, 48, 128, 128, scope="Mixed_5c"
            )  # inception_v1.slim:51
            end_points["Mixed_5c"] = net
            if final_endpoint == "Mixed_5c":
                return net
    return net


def inception_v1_base(inputs, final_endpoint="Mixed_5c", scope="InceptionV1"):
    """Model `inception_v1_base` of inception_v1.slim (line 56).

    Like tf_slim's nets it does not open its defaults itself; build it under them:

        with slim.arg_scope(inception_v1_arg_scope()):
            net, end_points = inception_v1_base(inputs)

    Args:
      inputs: a tensor of shape [batch, 224, 224, 3].

    Returns:
      net: the output tensor.
      end_points: a dict of the end points by name.
    """
    with tf.compat.v1.variable_scope(scope, "inception_v1_base", [inputs]):
        end_points = {}
        net = inception_v1_layers(
            inputs, end_points=end_points, final_endpoint=final_endpoint
        )  # inception_v1.slim:58
        if final_endpoint in end_points:
            return net, end_points
        if final_endpoint is not None:
            raise ValueError("Unknown final endpoint %s" % (final_endpoint,))
        return net, end_points


inception_v1_base.default_image_size = 224


def inception_v1(
    inputs,
    num_classes=1000,
    is_training=True,
    dropout_keep_prob=0.8,
    spatial_squeeze=True,
    reuse=None,
    scope="InceptionV1",
):
    """Model `inception_v1` of inception_v1.slim (line 63).

    Like tf_slim's nets it does not open its defaults itself; build it under them:

        with slim.arg_scope(inception_v1_arg_scope()):
            net, end_points = inception_v1(inputs)

    Args:
      inputs: a tensor of shape [batch, 224, 224, 3].

    Returns:
      net: the output tensor.
      end_points: a dict of the end points by name.
    """
    with tf.compat.v1.variable_scope(scope, "inception_v1", [inputs], reuse=reuse):
        end_points = {}
        with slim.arg_scope([slim.batch_norm, slim.dropout], is_training=is_training):
            net = inception_v1_layers(
                inputs, end_points=end_points
            )  # inception_v1.slim:67
            with tf.compat.v1.variable_scope("Logits"):  # inception_v1.slim:68
                net = slim.avg_pool2d(
                    net, [7, 7], stride=1, scope="MaxPool_0a_7x7"
                )  # inception_v1.slim:69
                net = slim.dropout(
                    net, dropout_keep_prob, scope="Dropout_0b"
                )  # inception_v1.slim:70
                net = slim.conv2d(
                    net,
                    num_classes,
                    [1, 1],
                    activation_fn=None,
                    normalizer_fn=None,
                    scope="Conv2d_0c_1x1",
                )  # inception_v1.slim:71
                if spatial_squeeze:
                    net = tf.squeeze(
                        net, [1, 2], name="SpatialSqueeze"
                    )  # inception_v1.slim:72
                end_points["Logits"] = net
                predictions = slim.softmax(
                    net, scope="Predictions"
                )  # inception_v1.slim:74
                end_points["Predictions"] = predictions
        return net, end_points


inception_v1.default_image_size = 224
