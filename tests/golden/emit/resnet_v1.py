"""TF-Slim model definitions compiled by slimlang from resnet_v1.slim.

Models: resnet_v1_50, resnet_v1_101, resnet_v1_152, resnet_v1_200.  Each returns
`net, end_points` like tf_slim.nets;
build it under its defaults' arg_scope, as the model docstrings show.

Generated code: edit resnet_v1.slim and run `slimlang build resnet_v1.slim --emit
py` again.
"""

try:  # slimlang's shim lets tf_slim 1.1.0 run on current TensorFlow
    from slimlang.tfcompat import slim, tf
except ImportError:
    import tensorflow as tf
    import tf_slim as slim


def resnet_arg_scope(
    weight_decay=0.0001,
    batch_norm_decay=0.997,
    batch_norm_epsilon=1e-05,
    batch_norm_scale=True,
):
    """Defaults `resnet_arg_scope` of resnet_v1.slim (line 5): the arg_scope its models
    are built under.

    Returns:
      An arg_scope (use it as `with slim.arg_scope(...)`).
    """
    with slim.arg_scope(
        [slim.conv2d],
        weights_regularizer=slim.l2_regularizer(weight_decay),
        weights_initializer=slim.variance_scaling_initializer(),
        activation_fn=tf.nn.relu,
        normalizer_fn=slim.batch_norm,
        normalizer_params={
            "decay": batch_norm_decay,
            "epsilon": batch_norm_epsilon,
            "scale": batch_norm_scale,
            "updates_collections": tf.compat.v1.GraphKeys.UPDATE_OPS,
        },
    ):
        with slim.arg_scope(
            [slim.batch_norm],
            decay=batch_norm_decay,
            epsilon=batch_norm_epsilon,
            scale=batch_norm_scale,
            updates_collections=tf.compat.v1.GraphKeys.UPDATE_OPS,
        ):
            with slim.arg_scope([slim.max_pool2d], padding="SAME") as arg_sc:
                return arg_sc


@slim.add_arg_scope
def conv2d_same(inputs, num_outputs, kernel_size, stride, rate=1, scope=None):
    """Block `conv2d_same` of resnet_v1.slim (line 18): inline, it opens no variable
    scope.
    """
    net = inputs
    if stride == 1:
        net = slim.conv2d(
            net,
            num_outputs,
            kernel_size,
            stride=1,
            padding="SAME",
            rate=rate,
            scope=scope,
        )  # resnet_v1.slim:20
    else:
        pad_total = kernel_size + (kernel_size - 1) * (rate - 1) - 1
        beg = pad_total // 2
        end = pad_total - beg
        net = tf.pad(net, [[0, 0], [beg, end], [beg, end], [0, 0]])  # resnet_v1.slim:25
        net = slim.conv2d(
            net,
            num_outputs,
            kernel_size,
            stride=stride,
            padding="VALID",
            rate=rate,
            scope=scope,
        )  # resnet_v1.slim:26
    return net


@slim.add_arg_scope
def subsample(inputs, factor, scope=None):
    """Block `subsample` of resnet_v1.slim (line 31): inline, it opens no variable
    scope.
    """
    net = inputs
    if factor != 1:
        net = slim.max_pool2d(
            net, [1, 1], stride=factor, scope=scope
        )  # resnet_v1.slim:33
    return net


@slim.add_arg_scope
def bottleneck_v1(
    inputs,
    depth,
    depth_bottleneck,
    stride,
    rate=1,
    scope=None,
    outputs_collections=None,
):
    """Block `bottleneck_v1` of resnet_v1.slim (line 39)."""
    with tf.compat.v1.variable_scope(scope, "bottleneck_v1", [inputs]) as sc:
        if depth == inputs.get_shape().as_list()[-1]:
            shortcut = subsample(inputs, stride, scope="shortcut")  # resnet_v1.slim:41
            net = inputs
        else:
            shortcut = slim.conv2d(
                inputs,
                depth,
                [1, 1],
                stride=stride,
                activation_fn=None,
                scope="shortcut",
            )  # resnet_v1.slim:43
            net = inputs
        net = slim.conv2d(
            inputs, depth_bottleneck, [1, 1], stride=1, scope="conv1"
        )  # resnet_v1.slim:45
        net = conv2d_same(
            net, depth_bottleneck, 3, stride, rate=rate, scope="conv2"
        )  # resnet_v1.slim:46
        net = slim.conv2d(
            net, depth, [1, 1], stride=1, activation_fn=None, scope="conv3"
        )  # resnet_v1.slim:47
        net = tf.add(net, shortcut)  # resnet_v1.slim:48
        net = tf.nn.relu(net)  # resnet_v1.slim:49
        return slim.utils.collect_named_outputs(outputs_collections, sc.name, net)


@slim.add_arg_scope
def resnet_v1(
    inputs,
    blocks,
    num_classes=None,
    is_training=True,
    global_pool=True,
    output_stride=None,
    include_root_block=True,
    end_points_collection=None,
    end_points=None,
    final_endpoint=None,
):
    """Block `resnet_v1` of resnet_v1.slim (line 55): inline, it opens no variable
    scope.

    Records its end points in `end_points`; returns early at `final_endpoint`.
    """
    end_points = {} if end_points is None else end_points
    with slim.arg_scope(
        [slim.conv2d, bottleneck_v1], outputs_collections=end_points_collection
    ):
        with slim.arg_scope([slim.batch_norm], is_training=is_training):
            net = inputs
            if include_root_block:
                if output_stride is not None:
                    if output_stride % 4 != 0:
                        raise ValueError(
                            "The output_stride needs to be a multiple of 4."
                        )
                    output_stride = output_stride // 4
                net = conv2d_same(net, 64, 7, 2, scope="conv1")  # resnet_v1.slim:66
                net = slim.max_pool2d(
                    net, [3, 3], stride=2, scope="pool1"
                )  # resnet_v1.slim:67
            current_stride = 1
            rate = 1
            for name, base_depth, num_units, block_stride in blocks:
                with tf.compat.v1.variable_scope(name, "Scope"):  # resnet_v1.slim:72
                    for i in range(num_units):
                        stride = block_stride if i == num_units - 1 else 1
                        if output_stride is not None and current_stride > output_stride:
                            raise ValueError(
                                "The target output_stride cannot be reached."
                            )
                        with tf.compat.v1.variable_scope(
                            "unit_" + str(i + 1), "Scope"
                        ):  # resnet_v1.slim:78
                            if current_stride == output_stride:
                                net = bottleneck_v1(
                                    net, 4 * base_depth, base_depth, 1, rate=rate
                                )  # resnet_v1.slim:80
                                rate = rate * stride
                            else:
                                net = bottleneck_v1(
                                    net, 4 * base_depth, base_depth, stride
                                )  # resnet_v1.slim:83
                                current_stride = current_stride * stride
                    end_point = tf.compat.v1.get_variable_scope().name
                    end_points[end_point] = net
                    if final_endpoint == end_point:
                        return net
            if output_stride is not None and current_stride != output_stride:
                raise ValueError("The target output_stride cannot be reached.")
            if global_pool:
                net = tf.reduce_mean(
                    net, [1, 2], keepdims=True, name="pool5"
                )  # resnet_v1.slim:95
            if num_classes is not None:
                net = slim.conv2d(
                    net,
                    num_classes,
                    [1, 1],
                    activation_fn=None,
                    normalizer_fn=None,
                    scope="logits",
                )  # resnet_v1.slim:98
                predictions = slim.softmax(
                    net, scope="predictions"
                )  # resnet_v1.slim:99
                end_points["predictions"] = predictions
                if final_endpoint == "predictions":
                    return predictions
    return net


def resnet_v1_50(
    inputs,
    num_classes=None,
    is_training=True,
    global_pool=True,
    output_stride=None,
    reuse=None,
    scope="resnet_v1_50",
):
    """Model `resnet_v1_50` of resnet_v1.slim (line 105).

    Like tf_slim's nets it does not open its defaults itself; build it under them:

        with slim.arg_scope(resnet_arg_scope()):
            net, end_points = resnet_v1_50(inputs)

    Args:
      inputs: a tensor of shape [batch, 224, 224, 3].
      scope: optional variable scope name.

    Returns:
      net: the output tensor.
      end_points: a dict of the end points by name.
    """
    with tf.compat.v1.variable_scope(
        scope, "resnet_v1_50", [inputs], reuse=reuse
    ) as sc:
        end_points_collection = sc.original_name_scope + "_end_points"
        end_points = {}
        blocks = [
            ("block1", 64, 3, 2),
            ("block2", 128, 4, 2),
            ("block3", 256, 6, 2),
            ("block4", 512, 3, 1),
        ]
        net = resnet_v1(
            inputs,
            blocks,
            num_classes,
            is_training,
            global_pool,
            output_stride,
            end_points_collection=end_points_collection,
            end_points=end_points,
        )  # resnet_v1.slim:109
        end_points = {
            **slim.utils.convert_collection_to_dict(end_points_collection),
            **end_points,
        }
        return net, end_points


resnet_v1_50.default_image_size = 224


def resnet_v1_101(
    inputs,
    num_classes=None,
    is_training=True,
    global_pool=True,
    output_stride=None,
    reuse=None,
    scope="resnet_v1_101",
):
    """Model `resnet_v1_101` of resnet_v1.slim (line 112).

    Like tf_slim's nets it does not open its defaults itself; build it under them:

        with slim.arg_scope(resnet_arg_scope()):
            net, end_points = resnet_v1_101(inputs)

    Args:
      inputs: a tensor of shape [batch, 224, 224, 3].
      scope: optional variable scope name.

    Returns:
      net: the output tensor.
      end_points: a dict of the end points by name.
    """
    with tf.compat.v1.variable_scope(
        scope, "resnet_v1_101", [inputs], reuse=reuse
    ) as sc:
        end_points_collection = sc.original_name_scope + "_end_points"
        end_points = {}
        blocks = [
            ("block1", 64, 3, 2),
            ("block2", 128, 4, 2),
            ("block3", 256, 23, 2),
            ("block4", 512, 3, 1),
        ]
        net = resnet_v1(
            inputs,
            blocks,
            num_classes,
            is_training,
            global_pool,
            output_stride,
            end_points_collection=end_points_collection,
            end_points=end_points,
        )  # resnet_v1.slim:116
        end_points = {
            **slim.utils.convert_collection_to_dict(end_points_collection),
            **end_points,
        }
        return net, end_points


resnet_v1_101.default_image_size = 224


def resnet_v1_152(
    inputs,
    num_classes=None,
    is_training=True,
    global_pool=True,
    output_stride=None,
    reuse=None,
    scope="resnet_v1_152",
):
    """Model `resnet_v1_152` of resnet_v1.slim (line 119).

    Like tf_slim's nets it does not open its defaults itself; build it under them:

        with slim.arg_scope(resnet_arg_scope()):
            net, end_points = resnet_v1_152(inputs)

    Args:
      inputs: a tensor of shape [batch, 224, 224, 3].
      scope: optional variable scope name.

    Returns:
      net: the output tensor.
      end_points: a dict of the end points by name.
    """
    with tf.compat.v1.variable_scope(
        scope, "resnet_v1_152", [inputs], reuse=reuse
    ) as sc:
        end_points_collection = sc.original_name_scope + "_end_points"
        end_points = {}
        blocks = [
            ("block1", 64, 3, 2),
            ("block2", 128, 8, 2),
            ("block3", 256, 36, 2),
            ("block4", 512, 3, 1),
        ]
        net = resnet_v1(
            inputs,
            blocks,
            num_classes,
            is_training,
            global_pool,
            output_stride,
            end_points_collection=end_points_collection,
            end_points=end_points,
        )  # resnet_v1.slim:123
        end_points = {
            **slim.utils.convert_collection_to_dict(end_points_collection),
            **end_points,
        }
        return net, end_points


resnet_v1_152.default_image_size = 224


def resnet_v1_200(
    inputs,
    num_classes=None,
    is_training=True,
    global_pool=True,
    output_stride=None,
    reuse=None,
    scope="resnet_v1_200",
):
    """Model `resnet_v1_200` of resnet_v1.slim (line 126).

    Like tf_slim's nets it does not open its defaults itself; build it under them:

        with slim.arg_scope(resnet_arg_scope()):
            net, end_points = resnet_v1_200(inputs)

    Args:
      inputs: a tensor of shape [batch, 224, 224, 3].
      scope: optional variable scope name.

    Returns:
      net: the output tensor.
      end_points: a dict of the end points by name.
    """
    with tf.compat.v1.variable_scope(
        scope, "resnet_v1_200", [inputs], reuse=reuse
    ) as sc:
        end_points_collection = sc.original_name_scope + "_end_points"
        end_points = {}
        blocks = [
            ("block1", 64, 3, 2),
            ("block2", 128, 24, 2),
            ("block3", 256, 36, 2),
            ("block4", 512, 3, 1),
        ]
        net = resnet_v1(
            inputs,
            blocks,
            num_classes,
            is_training,
            global_pool,
            output_stride,
            end_points_collection=end_points_collection,
            end_points=end_points,
        )  # resnet_v1.slim:130
        end_points = {
            **slim.utils.convert_collection_to_dict(end_points_collection),
            **end_points,
        }
        return net, end_points


resnet_v1_200.default_image_size = 224
