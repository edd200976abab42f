"""TF-Slim model definitions compiled by slimlang from multitask.slim.

Models: multitask.  Each returns `net, end_points` like tf_slim.nets;
build it under its defaults' arg_scope, as the model docstrings show.

Generated code: edit multitask.slim and run `slimlang build multitask.slim --emit
py` again.
"""

try:  # slimlang's shim lets tf_slim 1.1.0 run on current TensorFlow
    from slimlang.tfcompat import slim, tf
except ImportError:
    import tensorflow as tf
    import tf_slim as slim


def multitask_arg_scope(weight_decay=0.0005):
    """Defaults `multitask_arg_scope` of multitask.slim (line 11): the arg_scope its
    models are built under.

    Returns:
      An arg_scope (use it as `with slim.arg_scope(...)`).
    """
    with slim.arg_scope(
        [slim.conv2d, slim.conv2d_transpose, slim.fully_connected],
        activation_fn=tf.nn.relu,
        weights_regularizer=slim.l2_regularizer(weight_decay),
    ):
        with slim.arg_scope(
            [slim.conv2d, slim.conv2d_transpose], padding="SAME"
        ) as arg_sc:
            return arg_sc


def multitask(
    inputs, num_scenes=10, is_training=True, dropout_keep_prob=0.5, scope="multitask"
):
    """Model `multitask` of multitask.slim (line 16).

    Like tf_slim's nets it does not open its defaults itself; build it under them:

        with slim.arg_scope(multitask_arg_scope()):
            net, end_points = multitask(inputs)

    Args:
      inputs: a tensor of shape [batch, 64, 64, 3].
      scope: optional variable scope name.

    Returns:
      net: the output tensor.
      end_points: a dict of the end points by name.
    """
    with tf.compat.v1.variable_scope(scope, "multitask", [inputs]):
        end_points = {}
        with tf.compat.v1.variable_scope("trunk"):  # multitask.slim:19
            trunk = slim.repeat(
                inputs, 2, slim.conv2d, 32, [3, 3], scope="conv1"
            )  # multitask.slim:20
            trunk = slim.max_pool2d(trunk, [2, 2], scope="pool1")  # multitask.slim:21
            trunk = slim.repeat(
                trunk, 2, slim.conv2d, 64, [3, 3], scope="conv2"
            )  # multitask.slim:22
            trunk = slim.max_pool2d(trunk, [2, 2], scope="pool2")  # multitask.slim:23
            trunk = slim.conv2d(trunk, 128, [3, 3], scope="conv3")  # multitask.slim:24
        with tf.compat.v1.variable_scope("depth"):  # multitask.slim:29
            depth = slim.conv2d_transpose(
                trunk, 64, [4, 4], stride=2, scope="up1"
            )  # multitask.slim:30
            depth = slim.conv2d_transpose(
                depth, 32, [4, 4], stride=2, scope="up2"
            )  # multitask.slim:31
            depth = slim.conv2d(
                depth, 1, [1, 1], activation_fn=None, scope="predictions"
            )  # multitask.slim:32
        end_points["depth"] = depth
        with tf.compat.v1.variable_scope("scene"):  # multitask.slim:37
            net = tf.reduce_mean(trunk, [1, 2], name="global_pool")  # multitask.slim:38
            net = slim.fully_connected(net, 256, scope="fc1")  # multitask.slim:39
            net = slim.dropout(
                net, dropout_keep_prob, is_training=is_training, scope="dropout1"
            )  # multitask.slim:40
            net = slim.fully_connected(
                net, num_scenes, activation_fn=None, scope="logits"
            )  # multitask.slim:41
        end_points["scene"] = net
        return net, end_points


multitask.default_image_size = 64
