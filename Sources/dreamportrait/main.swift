import TensorCore
print("dreamportrait")
