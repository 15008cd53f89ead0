package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// minUserDomainSecret is the shortest newly chosen user domain secret.
const minUserDomainSecret = 32

// maxSecretInput bounds a secret read from standard input.
const maxSecretInput = 4096

// secretFrom returns a secret given on standard input (fromStdin), in the
// environment variable envName, or by flag (flagValue), in that order of
// preference; at most one may be used. It reports which source gave it.
func secretFrom(e env, flagName string, flagValue string, fromStdin bool, envName string) (string, error) {
	envValue := e.getenv(envName)
	n := 0
	for _, set := range []bool{flagValue != "", fromStdin, envValue != ""} {
		if set {
			n++
		}
	}
	if n > 1 {
		return "", usageErr("give the secret one way only: --%s-stdin, $%s or --%s", flagName, envName, flagName)
	}
	switch {
	case fromStdin:
		if e.stdin == nil {
			return "", errors.New("--" + flagName + "-stdin: standard input is empty")
		}
		r := bufio.NewReader(io.LimitReader(e.stdin, maxSecretInput+1))
		line, err := r.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("--%s-stdin: %w", flagName, err)
		}
		if len(line) > maxSecretInput {
			return "", fmt.Errorf("--%s-stdin: the secret is longer than %d bytes", flagName, maxSecretInput)
		}
		s := strings.TrimRight(line, "\r\n")
		if s == "" {
			return "", errors.New("--" + flagName + "-stdin: standard input is empty")
		}
		return s, nil
	case envValue != "":
		return envValue, nil
	}
	return flagValue, nil
}
