// SPDX-License-Identifier: GPL-2.0-or-later

package sched

import (
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
