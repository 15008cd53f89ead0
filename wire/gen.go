package wire

//go:generate go tool wire gen .
