package main

import (
	"context"
	"fmt"

	"github.com/iotplatform/enduser-auth/application"
)

// cmdUnbindPhone is `enduser user unbind-phone UID`.
func cmdUnbindPhone(ctx context.Context, svc *application.Operators, uid string, e env) error {
	removed, err := svc.UnbindUserPhone(ctx, uid)
	if err != nil {
		return adminErr(err)
	}
	if removed {
		fmt.Fprintf(e.stdout, "the phone number of user %s is removed\n", uid)
	} else {
		fmt.Fprintf(e.stdout, "user %s has no phone number\n", uid)
	}
	return nil
}
