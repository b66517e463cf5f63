// SPDX-License-Identifier: GPL-2.0-or-later

//go:build !linux

package xarray

// maxNodes bounds the node cache: 4M nodes, 2.2 GiB, reserved on the Go
// heap, where the operating system backs only the pages that are touched.
const maxNodes = 1 << 22

func reserveNodes() (*[maxNodes]node, uint32) { return new([maxNodes]node), maxNodes }
