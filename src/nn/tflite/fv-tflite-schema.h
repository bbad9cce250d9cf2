/* Field slots of the TFLite FlatBuffer tables that the reader decodes, in
 * the field order of schema.fbs (version 3): a table's n-th field is slot n
 * of its vtable.
 *
 * One list for the reader (fv-tflite.c), the malformed-model tests and the
 * fuzz seed writer (tests/fuzz/make-mini-model.py parses the lines below, so
 * keep them of the form "FV_TFLITE_NAME = number,"). Plain C, no includes,
 * so that C++ tests can use it as it is. */
#ifndef FV_TFLITE_SCHEMA_H
#define FV_TFLITE_SCHEMA_H

/* Model */
enum
{
  FV_TFLITE_MODEL_VERSION = 0,
  FV_TFLITE_MODEL_OPERATOR_CODES = 1,
  FV_TFLITE_MODEL_SUBGRAPHS = 2,
  FV_TFLITE_MODEL_DESCRIPTION = 3,
  FV_TFLITE_MODEL_BUFFERS = 4,
};

/* OperatorCode */
enum
{
  FV_TFLITE_OPERATOR_CODE_DEPRECATED_BUILTIN_CODE = 0,
  FV_TFLITE_OPERATOR_CODE_CUSTOM_CODE = 1,
  FV_TFLITE_OPERATOR_CODE_VERSION = 2,
  FV_TFLITE_OPERATOR_CODE_BUILTIN_CODE = 3,
};

/* SubGraph */
enum
{
  FV_TFLITE_SUBGRAPH_TENSORS = 0,
  FV_TFLITE_SUBGRAPH_INPUTS = 1,
  FV_TFLITE_SUBGRAPH_OUTPUTS = 2,
  FV_TFLITE_SUBGRAPH_OPERATORS = 3,
};

/* Tensor */
enum
{
  FV_TFLITE_TENSOR_SHAPE = 0,
  FV_TFLITE_TENSOR_TYPE = 1,
  FV_TFLITE_TENSOR_BUFFER = 2,
  FV_TFLITE_TENSOR_NAME = 3,
  FV_TFLITE_TENSOR_SPARSITY = 6,
};

/* Operator */
enum
{
  FV_TFLITE_OPERATOR_OPCODE_INDEX = 0,
  FV_TFLITE_OPERATOR_INPUTS = 1,
  FV_TFLITE_OPERATOR_OUTPUTS = 2,
  FV_TFLITE_OPERATOR_BUILTIN_OPTIONS_TYPE = 3,
  FV_TFLITE_OPERATOR_BUILTIN_OPTIONS = 4,
};

/* Buffer (offset and size: data kept after the FlatBuffer) */
enum
{
  FV_TFLITE_BUFFER_DATA = 0,
  FV_TFLITE_BUFFER_OFFSET = 1,
  FV_TFLITE_BUFFER_SIZE = 2,
};

/* Conv2DOptions */
enum
{
  FV_TFLITE_CONV_2D_PADDING = 0,
  FV_TFLITE_CONV_2D_STRIDE_W = 1,
  FV_TFLITE_CONV_2D_STRIDE_H = 2,
  FV_TFLITE_CONV_2D_FUSED_ACTIVATION = 3,
  FV_TFLITE_CONV_2D_DILATION_W = 4,
  FV_TFLITE_CONV_2D_DILATION_H = 5,
};

/* DepthwiseConv2DOptions */
enum
{
  FV_TFLITE_DEPTHWISE_PADDING = 0,
  FV_TFLITE_DEPTHWISE_STRIDE_W = 1,
  FV_TFLITE_DEPTHWISE_STRIDE_H = 2,
  FV_TFLITE_DEPTHWISE_DEPTH_MULTIPLIER = 3,
  FV_TFLITE_DEPTHWISE_FUSED_ACTIVATION = 4,
  FV_TFLITE_DEPTHWISE_DILATION_W = 5,
  FV_TFLITE_DEPTHWISE_DILATION_H = 6,
};

/* Pool2DOptions */
enum
{
  FV_TFLITE_POOL_2D_PADDING = 0,
  FV_TFLITE_POOL_2D_STRIDE_W = 1,
  FV_TFLITE_POOL_2D_STRIDE_H = 2,
  FV_TFLITE_POOL_2D_FILTER_W = 3,
  FV_TFLITE_POOL_2D_FILTER_H = 4,
  FV_TFLITE_POOL_2D_FUSED_ACTIVATION = 5,
};

/* FullyConnectedOptions */
enum
{
  FV_TFLITE_FULLY_CONNECTED_FUSED_ACTIVATION = 0,
  FV_TFLITE_FULLY_CONNECTED_WEIGHTS_FORMAT = 1,
  FV_TFLITE_FULLY_CONNECTED_KEEP_NUM_DIMS = 2,
};

/* AddOptions, SubOptions, MulOptions, DivOptions */
enum
{
  FV_TFLITE_ARITHMETIC_FUSED_ACTIVATION = 0,
};

/* ReducerOptions (SUM, REDUCE_MAX) */
enum
{
  FV_TFLITE_REDUCER_KEEP_DIMS = 0,
};

/* ReshapeOptions */
enum
{
  FV_TFLITE_RESHAPE_NEW_SHAPE = 0,
};

#endif /* FV_TFLITE_SCHEMA_H */
